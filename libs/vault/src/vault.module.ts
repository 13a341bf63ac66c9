import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AttributeHistory, AttributeValue } from './attribute-value.entity.js';
import { AttributesService } from './attributes.service.js';
import { CitizenKey } from './citizen-key.entity.js';
import { Citizen } from './citizen.entity.js';
import { CitizensService } from './citizens.service.js';
import { DataKeysService } from './data-keys.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([Citizen, CitizenKey, AttributeValue, AttributeHistory])],
  providers: [CitizensService, DataKeysService, AttributesService],
  exports: [CitizensService, DataKeysService, AttributesService],
})
export class VaultModule {}
