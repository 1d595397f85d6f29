export default { name: 'half' };
