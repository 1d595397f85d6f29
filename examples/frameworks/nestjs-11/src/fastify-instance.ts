// The application instance on the fastify platform, not listening: chaussette initialises it and serves its routes.
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';

export default await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter());
