// The application instance, not listening: chaussette initialises it and serves its routes.
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

export default await NestFactory.create(AppModule);
